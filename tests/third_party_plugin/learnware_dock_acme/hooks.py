"""Hook implementations only (the entry point ``acme``): each imports its component when
it is called, so discovering the plugin imports nothing heavy."""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import Checker, Container, Reuser, Searcher, StatSpecification


@hookimpl
def dock_register_specifications() -> list[type[StatSpecification]]:
    from learnware_dock_acme.spec import AcmeMeanSpecification

    return [AcmeMeanSpecification]


@hookimpl
def dock_register_searchers() -> list[type[Searcher]]:
    from learnware_dock_acme.searcher import NearestSearcher

    return [NearestSearcher]


@hookimpl
def dock_register_reusers() -> list[type[Reuser]]:
    from learnware_dock_acme.reuser import MedianReuser

    return [MedianReuser]


@hookimpl
def dock_register_containers() -> list[type[Container]]:
    from learnware_dock_acme.container import AcmeContainer

    return [AcmeContainer]


@hookimpl
def dock_register_checkers() -> list[type[Checker]]:
    from learnware_dock_acme.checker import LicenseChecker

    return [LicenseChecker]
