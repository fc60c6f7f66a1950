"""Organisation API (/api/v1/…): scoped reads; writes go through org.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from doorstep.core.serializers import DecisionSerializer
from doorstep.org import selectors, services
from doorstep.org.filtersets import (
    CommunityFilterSet,
    DepartureRequestFilterSet,
    GridAssignmentFilterSet,
    GridFilterSet,
    PoliceRoomFilterSet,
    SecondmentFilterSet,
    StaffFilterSet,
    StationFilterSet,
)
from doorstep.org.serializers import (
    CommunitySerializer,
    DepartureRequestCreateSerializer,
    DepartureRequestSerializer,
    EndAssignmentSerializer,
    GridAssignmentCreateSerializer,
    GridAssignmentSerializer,
    GridSerializer,
    PoliceRoomSerializer,
    SecondmentCreateSerializer,
    SecondmentSerializer,
    StaffSerializer,
    StationSerializer,
)


class StationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StationSerializer
    filterset_class = StationFilterSet
    ordering_fields = ["code", "name"]

    def get_queryset(self):
        return selectors.stations_for(self.request.user).order_by("code")


class CommunityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CommunitySerializer
    filterset_class = CommunityFilterSet
    ordering_fields = ["code", "name"]

    def get_queryset(self):
        return selectors.communities_for(self.request.user).order_by("code")


class GridViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GridSerializer
    filterset_class = GridFilterSet
    ordering_fields = ["code", "name"]

    def get_queryset(self):
        return selectors.grids_for(self.request.user).order_by("code")


class PoliceRoomViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PoliceRoomSerializer
    filterset_class = PoliceRoomFilterSet
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.police_rooms_for(self.request.user).order_by("community__code")

    def perform_update(self, serializer):
        serializer.instance = services.update_police_room(
            serializer.instance, by=self.request.user, **serializer.validated_data
        )


class StaffViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StaffSerializer
    filterset_class = StaffFilterSet
    ordering_fields = ["badge_number", "name"]

    def get_queryset(self):
        return selectors.staff_for(self.request.user).order_by("badge_number")


class GridAssignmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = GridAssignmentFilterSet

    def get_queryset(self):
        return selectors.assignments_for(self.request.user).order_by("grid__code", "position", "started_on")

    def get_serializer_class(self):
        return GridAssignmentCreateSerializer if self.action == "create" else GridAssignmentSerializer

    @extend_schema(request=GridAssignmentCreateSerializer, responses={201: GridAssignmentSerializer})
    def create(self, request, *args, **kwargs):
        data = GridAssignmentCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        assignment = services.assign_to_grid(by=request.user, **data.validated_data)
        return Response(GridAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndAssignmentSerializer, responses={200: GridAssignmentSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        data = EndAssignmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.end_assignment(self.get_object(), by=request.user, **data.validated_data)
        return Response(GridAssignmentSerializer(assignment).data)


class _DecisionMixin:
    decide = None  # the service function deciding a request

    def _decide(self, request, approve: bool):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = type(self).decide(
            self.get_object(), approve=approve, note=data.validated_data["note"], by=request.user
        )
        return Response(self.get_serializer(obj).data)


class DepartureRequestViewSet(_DecisionMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = DepartureRequestSerializer
    filterset_class = DepartureRequestFilterSet
    decide = staticmethod(services.decide_departure)

    def get_queryset(self):
        return selectors.departure_requests_for(self.request.user)

    @extend_schema(request=DepartureRequestCreateSerializer, responses={201: DepartureRequestSerializer})
    def create(self, request, *args, **kwargs):
        data = DepartureRequestCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        obj = services.request_departure(by=request.user, **data.validated_data)
        return Response(DepartureRequestSerializer(obj).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses={200: DepartureRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(request=DecisionSerializer, responses={200: DepartureRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)


class SecondmentViewSet(_DecisionMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SecondmentSerializer
    filterset_class = SecondmentFilterSet
    decide = staticmethod(services.decide_secondment)

    def get_queryset(self):
        return selectors.secondments_for(self.request.user)

    @extend_schema(request=SecondmentCreateSerializer, responses={201: SecondmentSerializer})
    def create(self, request, *args, **kwargs):
        data = SecondmentCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        obj = services.request_secondment(by=request.user, **data.validated_data)
        return Response(SecondmentSerializer(obj).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses={200: SecondmentSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(request=DecisionSerializer, responses={200: SecondmentSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)
