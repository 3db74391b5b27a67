"""Sections that later steps add to the participant page (training, licences, events, visits).

A domain registers ``(title, template, loader)``; the loader gets the participant and returns the
template's context (or None when it has nothing to show). This keeps the participants package
free of imports from the domains built on it.
"""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Section:
    title: str
    template: str
    loader: Callable
    order: int = 0  # the step it belongs to: sections appear in step order


SECTIONS: list[Section] = []


def register_section(title: str, template: str, loader: Callable, order: int = 0) -> None:
    if all(s.template != template for s in SECTIONS):
        SECTIONS.append(Section(title, template, loader, order))
        SECTIONS.sort(key=lambda s: s.order)


def sections_for(participant) -> list[tuple[Section, dict]]:
    result = []
    for section in SECTIONS:
        context = section.loader(participant)
        if context:
            result.append((section, context))
    return result
