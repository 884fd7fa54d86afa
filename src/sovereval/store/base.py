"""What every table module of the store shares: the declarative base (one metadata, one naming
convention, one migration chain) and the column types of identifiers and digests.

:mod:`sovereval.store.schema` (programmes, inputs, score runs, ledger, audit log) and
:mod:`sovereval.store.web_schema` (the web application's tables) both build on it; neither imports the
other's tables through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Double, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)  # identifiers (programme, stage, team, benchmark, ...) follow spec.Id: at most 64 chars
SHA = String(64)  # hex SHA-256


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
        float: Double,
        str: Text,
    }
