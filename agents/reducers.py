"""How the graph merges what parallel render tasks return into the run's state (LangGraph reducers)."""

from __future__ import annotations

from typing import TypeVar

Take = TypeVar("Take")
"""A shot's take (`agents.state.Take`); the reducers only move takes about, so any value will do."""


def merge_takes(left: dict[str, Take], right: dict[str, Take]) -> dict[str, Take]:
    """Reducer for takes rendered in parallel: later takes for a shot replace earlier ones."""
    return {**left, **right}


def merge_alternates(left: dict[str, dict[int, Take]], right: dict[str, dict[int, Take]]) -> dict[str, dict[int, Take]]:
    """Reducer for the other takes of a shot's coverage, rendered in parallel; an empty dict clears a shot's."""
    merged = {shot_id: dict(takes) for shot_id, takes in left.items()}
    for shot_id, takes in right.items():
        merged[shot_id] = {**merged.get(shot_id, {}), **takes} if takes else {}
    return {shot_id: takes for shot_id, takes in merged.items() if takes}


def merge_failures(left: dict[str, str], right: dict[str, str]) -> dict[str, str]:
    """Reducer for render failures: an empty message clears a shot's earlier failure."""
    merged = {**left, **right}
    return {shot_id: message for shot_id, message in merged.items() if message}
