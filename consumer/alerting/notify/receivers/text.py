"""A notification as people read it: a subject line, a plain-text body and an HTML body (every piece of alert or
event text escaped), shared by the email receiver and anything else that writes for humans."""

import html

from consumer.alerting.notify.receivers.base import Notification, NotifiedAlert, rfc3339

MAX_LINE = 300  # characters of one event line shown; the search link shows the rest


def subject(notification: Notification, prefix: str) -> str:
    firing, fired = len(notification.firing()), len(notification.fired_and_resolved())
    head = f"[FIRING:{firing}]" if firing else f"[FIRED:{fired}]" if fired else "[RESOLVED]"
    rules = sorted({a.rule for a in notification.alerts})
    text = " ".join(part for part in (prefix, head, ", ".join(rules), notification.group_text) if part)
    return one_line(text)[:250]


def plain(notification: Notification, console_url: str) -> str:
    lines = [_headline(notification), ""]
    for section, alerts in _sections(notification):
        if not alerts:
            continue
        lines.append(f"{section}:")
        for alert in alerts:
            lines.append("")
            lines.append(f"- [{alert.severity.value}] {one_line(alert.rule)} {one_line(alert.group)}".rstrip())
            lines.append(f"  {one_line(alert.summary)}")
            lines.append(f"  {_times(alert)}")
            if alert.late:
                lines.append("  Late: evaluated from a backlog of events older than the allowed lateness.")
            if alert.samples:
                lines.append("  First matching lines:")
                lines.extend(f"    {one_line(sample)[:MAX_LINE]}" for sample in alert.samples)
            link = alert.search_url(console_url)
            if link:
                lines.append(f"  Search: {link}")
            elif alert.search:
                lines.append(f"  Search: {one_line(alert.search_command())}")
        lines.append("")
    if notification.truncated:
        lines.append(f"{notification.truncated} more alerts of this group are not shown.")
    lines.append(f"Notification {notification.id} (#{notification.sequence} of this group) for receiver "
                 f"{notification.receiver}.")
    return "\n".join(lines) + "\n"


def rich(notification: Notification, console_url: str) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html><body>", f"<p><strong>{e(_headline(notification))}</strong></p>"]
    for section, alerts in _sections(notification):
        if not alerts:
            continue
        parts.append(f"<h3>{section}</h3><ul>")
        for alert in alerts:
            parts.append(f"<li><p><strong>[{e(alert.severity.value)}] {e(alert.rule)}</strong> {e(alert.group)}<br>")
            parts.append(f"{e(alert.summary)}<br><small>{e(_times(alert))}</small></p>")
            if alert.late:
                parts.append("<p><em>Late: evaluated from a backlog of events older than the allowed lateness.</em></p>")
            if alert.samples:
                parts.append("<pre>" + "\n".join(e(one_line(s)[:MAX_LINE]) for s in alert.samples) + "</pre>")
            link = alert.search_url(console_url)
            if link:
                parts.append(f'<p><a href="{e(link, quote=True)}">Search the matching events</a></p>')
            elif alert.search:
                parts.append(f"<p><code>{e(one_line(alert.search_command()))}</code></p>")
            parts.append("</li>")
        parts.append("</ul>")
    if notification.truncated:
        parts.append(f"<p>{notification.truncated} more alerts of this group are not shown.</p>")
    parts.append(f"<p><small>Notification {e(notification.id)} (#{notification.sequence} of this group) for receiver "
                 f"{e(notification.receiver)}.</small></p></body></html>")
    return "".join(parts) + "\n"


def one_line(text: str) -> str:
    """`text` with control characters (newlines, escapes) shown as spaces: nothing in an event can add a header or
    a line of its own."""
    return "".join(c if c.isprintable() else " " for c in text)


def _sections(notification: Notification) -> list[tuple[str, list[NotifiedAlert]]]:
    return [("Firing", notification.firing()), ("Fired and resolved", notification.fired_and_resolved()),
            ("Resolved", notification.resolved())]


def _headline(notification: Notification) -> str:
    counts = ", ".join(f"{len(alerts)} {section.lower()}" for section, alerts in _sections(notification) if alerts)
    group = f" for {one_line(notification.group_text)}" if notification.group_text else ""
    return f"{counts}{group}."


def _times(alert: NotifiedAlert) -> str:
    parts = [f"started {rfc3339(alert.started_at)}"]
    if alert.fired_at is not None:
        parts.append(f"firing since {rfc3339(alert.fired_at)}")
    if alert.resolved_at is not None:
        parts.append(f"resolved {rfc3339(alert.resolved_at)}")
    parts.append(f"{alert.count} matching events")
    return ", ".join(parts) + " (event times, UTC)"
