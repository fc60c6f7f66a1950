"""Registry API (/api/v1/addresses|houses|households|persons|units|concerns|visits|search/).

Reads come from `registry.selectors` (scoped: outside the territory is a 404); writes go to
`registry.services` (which check who may write and answer in Chinese through the API exception handler).
Responses mask ID numbers and phones; full values only through the audited `reveal` actions. Persons of
concern are served only by `concerns/`, only to `privacy.CONCERN_ROLES`, and every row served is logged.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from doorstep.core.errors import RuleViolation
from doorstep.core.serializers import DecisionSerializer
from doorstep.registry import privacy, search, selectors, services
from doorstep.registry.filtersets import (
    AddressFilterSet,
    HouseFilterSet,
    HouseholdFilterSet,
    PersonFilterSet,
    PersonOfConcernFilterSet,
    UnitFilterSet,
    VisitFilterSet,
)
from doorstep.registry.models import Person
from doorstep.registry.serializers import (
    AddressCreateSerializer,
    AddressSerializer,
    AddressUpdateSerializer,
    DelistingRequestSerializer,
    HouseCreateSerializer,
    HouseholdCreateSerializer,
    HouseholdDetailSerializer,
    HouseholdSerializer,
    HouseRevealedSerializer,
    HouseRevealRequestSerializer,
    HouseSerializer,
    HouseUpdateSerializer,
    ListingRequestSerializer,
    PersonCreateSerializer,
    PersonOfConcernSerializer,
    PersonRevealedSerializer,
    PersonRevealRequestSerializer,
    PersonSerializer,
    PersonUpdateSerializer,
    ReclassRequestSerializer,
    SearchHitSerializer,
    SearchQuerySerializer,
    SearchResultsSerializer,
    TransferRequestSerializer,
    UnitCreateSerializer,
    UnitSerializer,
    UnitUpdateSerializer,
    VisitCreateSerializer,
    VisitSerializer,
)


def _write(service: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a service; a database constraint the service did not foresee is a 409, never a 500."""
    try:
        return service(*args, **kwargs)
    except IntegrityError as exc:
        raise RuleViolation(_("与已登记的记录冲突，请检查编码、证件号码等是否重复"), code="conflict") from exc


class _RegistryViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """List/retrieve through a selector; create/PATCH through a service; no PUT, no DELETE."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    create_serializer_class: Any = None
    update_serializer_class: Any = None

    def _validated(self, serializer_class: Any, **kwargs: Any) -> dict[str, Any]:
        data = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def _answer(self, obj: Any, status_code: int = status.HTTP_200_OK) -> Response:
        """The object as it is now, read back through the scoped selector (so the response is complete)."""
        obj = self.get_queryset().filter(pk=obj.pk).first() or obj
        return Response(self.get_serializer(obj).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.perform_service_create(self._validated(self.create_serializer_class))
        return self._answer(obj, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        changes = self._validated(self.update_serializer_class, partial=True)
        return self._answer(self.perform_service_update(obj, changes))

    def perform_service_create(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def perform_service_update(self, obj: Any, changes: dict[str, Any]) -> Any:
        raise NotImplementedError


class _RevealMixin:
    """`POST …/{id}/reveal/`: full values of personal fields for permitted roles, with a purpose (audited)."""

    reveal_request_serializer: Any = None

    def _reveal(self, request: Request) -> Response:
        obj = self.get_object()
        data = self.reveal_request_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = privacy.reveal(
            request.user, obj, data.validated_data["fields"], purpose=data.validated_data["purpose"]
        )
        return Response(values)


# --- addresses ------------------------------------------------------------------------------------------
@extend_schema(tags=["registry"])
class AddressViewSet(_RegistryViewSet):
    serializer_class = AddressSerializer
    create_serializer_class = AddressCreateSerializer
    update_serializer_class = AddressUpdateSerializer
    filterset_class = AddressFilterSet
    ordering_fields = ["code", "full_text", "created_at"]

    def get_queryset(self):
        return selectors.addresses_for(self.request.user).order_by("code")

    def perform_service_create(self, data):
        return _write(services.create_address, by=self.request.user, **data)

    def perform_service_update(self, obj, changes):
        return services.update_address(obj, by=self.request.user, **changes)

    @extend_schema(request=AddressCreateSerializer, responses={201: AddressSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(request=AddressUpdateSerializer, responses={200: AddressSerializer})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def _review(self, request: Request, approve: bool) -> Response:
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = services.review_address(
            self.get_object(), approve=approve, note=data.validated_data["note"], by=request.user
        )
        return self._answer(obj)

    @extend_schema(request=DecisionSerializer, responses={200: AddressSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """审核通过 (station director)."""
        return self._review(request, True)

    @extend_schema(request=DecisionSerializer, responses={200: AddressSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """审核不通过 (station director)."""
        return self._review(request, False)


# --- houses ---------------------------------------------------------------------------------------------
@extend_schema(tags=["registry"])
class HouseViewSet(_RevealMixin, _RegistryViewSet):
    serializer_class = HouseSerializer
    create_serializer_class = HouseCreateSerializer
    update_serializer_class = HouseUpdateSerializer
    reveal_request_serializer = HouseRevealRequestSerializer
    filterset_class = HouseFilterSet
    ordering_fields = ["code", "colour", "next_visit_due", "created_at"]

    def get_queryset(self):
        return selectors.houses_for(self.request.user).order_by("code")

    def perform_service_create(self, data):
        return _write(services.create_house, by=self.request.user, **data)

    def perform_service_update(self, obj, changes):
        return services.update_house(obj, by=self.request.user, **changes)

    @extend_schema(request=HouseCreateSerializer, responses={201: HouseSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(request=HouseUpdateSerializer, responses={200: HouseSerializer})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=HouseRevealRequestSerializer, responses={200: HouseRevealedSerializer})
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """Full owner ID number / phones, for officers and directors, with a purpose (access-logged)."""
        return self._reveal(request)


# --- households -----------------------------------------------------------------------------------------
@extend_schema(tags=["registry"])
class HouseholdViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = HouseholdFilterSet
    ordering_fields = ["colour", "next_visit_due", "created_at"]

    def get_queryset(self):
        qs = selectors.households_for(self.request.user).annotate(member_count=Count("members"))
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch("members", queryset=Person.objects.order_by("id").only(
                    "id", "name", "relation_to_head", "category", "gender", "household_id"
                ))
            )  # fmt: skip
        return qs.order_by("house__code", "id")

    def get_serializer_class(self):
        return HouseholdDetailSerializer if self.action == "retrieve" else HouseholdSerializer

    @extend_schema(request=HouseholdCreateSerializer, responses={201: HouseholdSerializer})
    def create(self, request, *args, **kwargs):
        data = HouseholdCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        household = services.create_household(by=request.user, **data.validated_data)
        household = self.get_queryset().get(pk=household.pk)
        return Response(self.get_serializer(household).data, status=status.HTTP_201_CREATED)


# --- persons --------------------------------------------------------------------------------------------
HEAD = "户主"


@extend_schema(tags=["registry"])
class PersonViewSet(_RevealMixin, _RegistryViewSet):
    """Persons as every permitted role sees them: masked, and never with a concern status."""

    serializer_class = PersonSerializer
    create_serializer_class = PersonCreateSerializer
    update_serializer_class = PersonUpdateSerializer
    reveal_request_serializer = PersonRevealRequestSerializer
    filterset_class = PersonFilterSet
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.persons_for(self.request.user).order_by("name", "id")

    def perform_service_create(self, data):
        by = self.request.user
        with transaction.atomic():
            person = _write(services.create_person, by=by, **data)
            if person.household_id and person.relation_to_head == HEAD:
                person = services.set_household(person, person.household, relation=HEAD, by=by)
        return person

    def perform_service_update(self, obj, changes):
        """Moving to another household goes through `set_household` (it keeps the household's head)."""
        by = self.request.user
        with transaction.atomic():
            if "household" in changes:
                household = changes.pop("household")
                relation = changes.pop("relation_to_head", obj.relation_to_head if household else "")
                obj = _write(services.set_household, obj, household, relation=relation, by=by)
                if not changes:
                    return obj
            return _write(services.update_person, obj, by=by, **changes)

    @extend_schema(request=PersonCreateSerializer, responses={201: PersonSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(request=PersonUpdateSerializer, responses={200: PersonSerializer})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=PersonRevealRequestSerializer, responses={200: PersonRevealedSerializer})
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """Full ID number / phone / document numbers, for officers and directors, with a purpose (logged)."""
        return self._reveal(request)

    @extend_schema(request=ListingRequestSerializer, responses={201: PersonOfConcernSerializer})
    @action(detail=True, methods=["post"], url_path="request-listing")
    def request_listing(self, request, pk=None):
        """列管申请: asks the station director to list this person (roles in `privacy.CONCERN_ROLES`)."""
        person = self.get_object()
        data = ListingRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        concern = services.request_listing(person, by=request.user, **data.validated_data)
        return _concern_answer(request, concern, status.HTTP_201_CREATED)


# --- units ----------------------------------------------------------------------------------------------
@extend_schema(tags=["registry"])
class UnitViewSet(_RegistryViewSet):
    serializer_class = UnitSerializer
    create_serializer_class = UnitCreateSerializer
    update_serializer_class = UnitUpdateSerializer
    filterset_class = UnitFilterSet
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.units_for(self.request.user).order_by("name", "id")

    def perform_service_create(self, data):
        return _write(services.create_unit, by=self.request.user, **data)

    def perform_service_update(self, obj, changes):
        return _write(services.update_unit, obj, by=self.request.user, **changes)

    @extend_schema(request=UnitCreateSerializer, responses={201: UnitSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(request=UnitUpdateSerializer, responses={200: UnitSerializer})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)


# --- persons of concern ---------------------------------------------------------------------------------
def _concern_answer(request: Request, concern: Any, status_code: int = status.HTTP_200_OK) -> Response:
    """A concern as it is now; showing it is a read of a person of concern, so it is logged."""
    rows = selectors.read_concerns(request.user, selectors.concerns_for(request.user).filter(pk=concern.pk))
    return Response(PersonOfConcernSerializer(rows[0]).data, status=status_code)


@extend_schema(tags=["registry"])
class PersonOfConcernViewSet(viewsets.ReadOnlyModelViewSet):
    """重点人员: only for `privacy.CONCERN_ROLES` (others get an empty list and 404s); every row served is
    written to the access log (kind `concern`)."""

    serializer_class = PersonOfConcernSerializer
    filterset_class = PersonOfConcernFilterSet
    ordering_fields = ["created_at", "status"]

    def get_queryset(self):
        return selectors.concerns_for(self.request.user).order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = selectors.read_concerns(request.user, page)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        concern = self.get_object()
        selectors.read_concerns(request.user, [concern])
        return Response(self.get_serializer(concern).data)

    @extend_schema(request=DelistingRequestSerializer, responses={200: PersonOfConcernSerializer})
    @action(detail=True, methods=["post"], url_path="request-delisting")
    def request_delisting(self, request, pk=None):
        """撤管申请 for a listed person; the station director decides."""
        data = DelistingRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        concern = services.request_delisting(self.get_object(), by=request.user, **data.validated_data)
        return _concern_answer(request, concern)

    @extend_schema(request=ReclassRequestSerializer, responses={200: PersonOfConcernSerializer})
    @action(detail=True, methods=["post"], url_path="request-reclass")
    def request_reclass(self, request, pk=None):
        """转类申请: change the type of a listed person; the station director decides."""
        data = ReclassRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        concern = services.request_reclass(self.get_object(), by=request.user, **data.validated_data)
        return _concern_answer(request, concern)

    @extend_schema(request=TransferRequestSerializer, responses={200: PersonOfConcernSerializer})
    @action(detail=True, methods=["post"], url_path="request-transfer")
    def request_transfer(self, request, pk=None):
        """转递申请: the person has moved to another grid; the receiving station's director decides."""
        data = TransferRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        concern = services.request_transfer(self.get_object(), by=request.user, **data.validated_data)
        return _concern_answer(request, concern)

    def _decide(self, request: Request, approve: bool) -> Response:
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        concern = services.decide_concern(
            self.get_object(), approve=approve, note=data.validated_data["note"], by=request.user
        )
        return _concern_answer(request, concern)

    @extend_schema(request=DecisionSerializer, responses={200: PersonOfConcernSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """The station director approves the pending listing / delisting / reclassification / transfer
        (a transfer: the director of the receiving station)."""
        return self._decide(request, True)

    @extend_schema(request=DecisionSerializer, responses={200: PersonOfConcernSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """The station director rejects the pending request."""
        return self._decide(request, False)


# --- visits ---------------------------------------------------------------------------------------------
@extend_schema(tags=["registry"])
class VisitViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = VisitSerializer
    filterset_class = VisitFilterSet
    ordering_fields = ["visited_at"]

    def get_queryset(self):
        return selectors.visits_for(self.request.user).order_by("-visited_at", "-id")

    @extend_schema(request=VisitCreateSerializer, responses={201: VisitSerializer})
    def create(self, request, *args, **kwargs):
        """入户走访: records the visit and resets the household's visit clock by its colour."""
        data = VisitCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        visit = services.record_visit(
            fields["household"],
            findings=fields["findings"],
            visited_at=fields["visited_at"],
            photo=fields["photo"],
            by=request.user,
        )
        visit = self.get_queryset().get(pk=visit.pk)
        return Response(self.get_serializer(visit).data, status=status.HTTP_201_CREATED)


# --- search ---------------------------------------------------------------------------------------------
class _OneObjectSchema(AutoSchema):
    """drf-spectacular documents a `list` action as an array; the search answers one `{"results": [...]}`."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


@extend_schema(tags=["registry"])
class SearchViewSet(viewsets.ViewSet):
    """One search box: persons, houses and units in the user's territory (see `registry.search`)."""

    schema = _OneObjectSchema()

    @extend_schema(parameters=[SearchQuerySerializer], responses={200: SearchResultsSerializer})
    def list(self, request):
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        hits = search.search(request.user, query.validated_data["q"], query.validated_data["limit"])
        return Response({"results": SearchHitSerializer(hits, many=True).data})
