"""The personal-data registry the application was built with (app/privacy_handlers.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.privacy.registry import Registry


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.privacy_registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]
