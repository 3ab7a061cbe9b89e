"""The fact types as part of the contract: what a partner may publish, and how it travels.

``GET /fact-types`` lists every type the hub accepts; ``GET /fact-types/{name}/{version}``
(``/fact-types/police.incident/1``: a type id's slash is the path's) answers the type's JSON
Schema with its annotations (life domain, sensitivity, disclosure class per field) and who may
publish it at which table in which phases, from the publishing data of the policy version this
hub serves now (``data.vhhub.publishing``, the same data the publish decision reads).

Any authenticated partner may read them, with any purpose (the Purpose header is required of
every API request; the contract is the same whatever the purpose). Reading the contract is no
processing of personal data and concerns no case, so it is not an access-log entry (a partner
library may fetch the catalog at every start); a failed authentication is logged as always.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path

from hub.context import HubContext, get_context
from hub.facts.contract import FactTypeContract
from hub.facts.types_schemas import FactTypeDetail, FactTypeList
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems

router = APIRouter(prefix="/fact-types", tags=["fact-types"])

_NAME_PATTERN: Final = r"^[a-z][a-z_]{0,30}\.[a-z][a-z_]{0,30}$"


def fact_type_contract(ctx: Annotated[HubContext, Depends(get_context)]) -> FactTypeContract:
    return ctx.fact_types


Contract = Annotated[FactTypeContract, Depends(fact_type_contract)]


@router.get(
    "",
    response_model=FactTypeList,
    summary="List the fact types partners may publish",
    description="Every fact type the hub accepts, with its life domain, sensitivity, the "
    "partner kinds that may publish it and in which phases (under the policy version the hub "
    "serves now), and the URL of its JSON Schema. Any authenticated partner, any purpose. "
    "Reading the contract concerns no person or case and is not an access-log entry.",
)
def list_fact_types(viewer: CurrentViewer, contract: Contract) -> FactTypeList:
    return contract.summaries()


@router.get(
    "/{name}/{version}",
    response_model=FactTypeDetail,
    summary="One fact type: its JSON Schema and annotations",
    description="The JSON Schema (draft 2020-12) the content of a publish of this type must "
    "match, with its `x-` annotations, and the same annotations in plain fields: the life "
    "domain and sensitivity of the type and of each field, each field's disclosure class "
    "(summary, full, never), and who may publish it at which table in which phases under the "
    "policy version the hub serves now. The path is the type id: `police.incident/1` is "
    "`/fact-types/police.incident/1`. Any authenticated partner, any purpose; not an "
    "access-log entry. An unknown type answers 404.",
    responses=problems(404),
)
def get_fact_type(
    viewer: CurrentViewer,
    contract: Contract,
    name: Annotated[
        str,
        Path(
            pattern=_NAME_PATTERN,
            max_length=62,
            description="The type's name, `<namespace>.<name>`.",
            examples=["police.incident"],
        ),
    ],
    version: Annotated[int, Path(ge=1, le=9999, description="The type's version.", examples=[1])],
) -> FactTypeDetail:
    return contract.detail(f"{name}/{version}")
