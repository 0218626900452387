"""Progress shows on a terminal (or when asked) and never changes what a step does."""

from __future__ import annotations

from tertulia.progress import progress, shown


def test_progress_is_silent_off_a_terminal_and_counts_anyway(monkeypatch, capsys):
    monkeypatch.delenv("TERTULIA_PROGRESS", raising=False)  # pytest's stderr is not a terminal
    assert not shown()
    with progress("Enriching comments") as steps:
        steps.advance(500)
        steps.advance(250, description="still enriching")
    assert steps.completed == 750
    assert capsys.readouterr().err == ""


def test_progress_can_be_forced_on_and_off(monkeypatch):
    monkeypatch.setenv("TERTULIA_PROGRESS", "on")
    assert shown()
    with progress("Importing bundle", total=2) as steps:
        steps.advance()
        steps.advance()
    assert steps.completed == 2
    monkeypatch.setenv("TERTULIA_PROGRESS", "off")
    assert not shown()
