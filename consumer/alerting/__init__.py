"""The alert evaluator: rules over the event stream (consumer.alerting.rules, .evaluator), and the notifications
they cause (consumer.alerting.notify). `model` is the contract between the two halves."""
