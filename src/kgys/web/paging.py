"""Paged lists: the page asked for, one page of an API list, and what the pager of a web list shows (count,
page, links keeping the filters)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import pydantic_core
from fastapi import Query
from pydantic import BaseModel

MAX_PAGE = 1_000_000
MAX_PER_PAGE = 500

T = TypeVar("T")

PageQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")]
PerPageQuery = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items on a page")]


class Page(BaseModel, Generic[T]):
    """One page of a list, with the number of items in the whole list."""

    items: list[T]
    total: int
    page: int
    per_page: int


def page_json(items: list[dict[str, Any]], *, total: int, page: int, per_page: int) -> bytes:
    """One :class:`Page` as JSON, its items given as dicts already in their response model's shape, order and
    types (a list's reader makes them so, and its tests check them against the model): serialised once, as
    ``model_dump_json`` would, without validating our own output again."""
    return pydantic_core.to_json({"items": items, "total": total, "page": page, "per_page": per_page})


def page_number(raw: str | None) -> int:
    """The page asked for in ``?page=``: 1 when missing or not a number, never beyond ``MAX_PAGE``."""
    try:
        return max(1, min(int(raw or "1"), MAX_PAGE))
    except ValueError:
        return 1


def pager(path: str, filters: Mapping[str, str], *, page: int, total: int, per_page: int) -> dict[str, Any]:
    """The template values of a paged list at ``path``: total, page, pages, prev_url and next_url (None at
    either end); the links keep the filters that are set."""
    pages = max(1, math.ceil(total / per_page))
    kept = {k: v for k, v in filters.items() if v}

    def url(n: int) -> str:
        return f"{path}?" + urlencode(kept | {"page": str(n)})

    return {"total": total, "page": page, "pages": pages,
            "prev_url": url(page - 1) if page > 1 else None,
            "next_url": url(page + 1) if page < pages else None}
