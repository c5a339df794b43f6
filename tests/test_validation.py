"""Names and free text refuse invisible control and text-direction characters, and keep everything else."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, StringConstraints, ValidationError

from kgys.validation import UNSAFE_TEXT, SafeChars, SafeText, unsafe_character


@pytest.mark.parametrize(("text", "found"), [
    ("Atatürk İlkokulu", None),
    ("ğüşıöçĞÜŞİÖÇ", None),
    ("Школа № 5", None),
    ("مدرسة", None),  # right-to-left script itself is fine; only the invisible controls are refused
    ("line one\nline two\r\n\tindented", None),
    ("", None),
    ("Okul\x00", (5, "U+0000")),
    ("\x01start", (1, "U+0001")),
    ("bell\x07", (5, "U+0007")),
    ("ab\x0bc", (3, "U+000B")),
    ("esc\x1b[31m", (4, "U+001B")),
    ("del\x7f", (4, "U+007F")),
    ("c1\x85", (3, "U+0085")),
    ("Okul \u202eIGEL", (6, "U+202E")),
    ("\u202aa", (1, "U+202A")),
    ("\u202bb", (1, "U+202B")),
    ("\u202cc", (1, "U+202C")),
    ("\u202dd", (1, "U+202D")),
    ("x\u2066y", (2, "U+2066")),
    ("x\u2067y", (2, "U+2067")),
    ("x\u2068y", (2, "U+2068")),
    ("x\u2069y", (2, "U+2069")),
    ("a\u200eb", (2, "U+200E")),
    ("a\u200fb", (2, "U+200F")),
    ("a\u061cb", (2, "U+061C")),
    ("zero\u200bwidth space", None),  # not a direction control
])
def test_unsafe_character(text: str, found: tuple[int, str] | None) -> None:
    assert unsafe_character(text) == found


class _Model(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10), SafeChars]
    note: SafeText = ""


def test_the_schema_type_names_the_field_and_keeps_string_constraints() -> None:
    assert _Model(name="  Okul  ", note="a\nb").name == "Okul"
    with pytest.raises(ValidationError) as info:
        _Model(name="Ok\u202eul", note="x\x00")
    errors = {e["loc"][0]: e for e in info.value.errors()}
    assert set(errors) == {"name", "note"}
    assert errors["name"]["type"] == UNSAFE_TEXT
    assert "U+202E" in errors["name"]["msg"] and "position 3" in errors["name"]["msg"]
    with pytest.raises(ValidationError) as info:
        _Model(name="x" * 11)
    assert info.value.errors()[0]["type"] == "string_too_long"


def test_every_text_field_of_every_request_body_refuses_a_nul() -> None:
    """A NUL reaches no database from a request body (PostgreSQL refuses it with an error, SQLite stores it):
    every string field of every request model (``extra="forbid"``) refuses it, passwords aside (hashed or
    encrypted, never stored as text)."""
    import importlib
    import pkgutil
    from typing import Annotated

    from pydantic import BaseModel, TypeAdapter, ValidationError

    import kgys

    accepted = []
    for info in pkgutil.walk_packages(kgys.__path__, "kgys."):
        if not info.name.endswith("schemas"):
            continue
        module = importlib.import_module(info.name)
        for name, model in vars(module).items():
            if not (isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == module.__name__
                    and model.model_config.get("extra") == "forbid"):
                continue
            for field_name, f in model.model_fields.items():
                if field_name == "password":
                    continue
                adapter: TypeAdapter[object] = TypeAdapter(Annotated[f.annotation, *f.metadata] if f.metadata
                                                           else f.annotation)
                try:
                    adapter.validate_python("ab\x00c")
                except ValidationError:
                    continue
                accepted.append(f"{info.name}.{name}.{field_name}")
    assert accepted == []
