from __future__ import annotations

from rest_framework import serializers

from doorstep.core.serializers import ScopedPrimaryKeyRelatedField
from doorstep.org.choices import Position
from doorstep.org.models import (
    Community,
    DepartureRequest,
    Grid,
    GridAssignment,
    PoliceRoom,
    Secondment,
    Staff,
    Station,
)


class StationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Station
        fields = ["id", "name", "code", "area_type", "address", "phone", "lng", "lat", "sub_bureau"]


class CommunitySerializer(serializers.ModelSerializer):
    station_name = serializers.CharField(source="station.name", read_only=True)
    street_name = serializers.CharField(source="street.name", read_only=True)

    class Meta:
        model = Community
        fields = ["id", "name", "code", "station", "station_name", "street", "street_name"]


class GridSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    station = serializers.IntegerField(source="community.station_id", read_only=True)

    class Meta:
        model = Grid
        fields = [
            "id",
            "name",
            "code",
            "community",
            "community_name",
            "station",
            "boundary",
            "center_lng",
            "center_lat",
        ]


class PoliceRoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = PoliceRoom
        fields = ["id", "name", "community", "address", "lng", "lat", "public_phone", "hours", "open_24h"]
        read_only_fields = ["id", "community"]
        extra_kwargs = {
            "lng": {"min_value": 73.0, "max_value": 136.0},
            "lat": {"min_value": 3.0, "max_value": 54.0},
        }


class StaffSerializer(serializers.ModelSerializer):
    class Meta:
        model = Staff
        fields = ["id", "name", "kind", "badge_number", "phone", "station", "joined_on", "active"]


class GridAssignmentSerializer(serializers.ModelSerializer):
    staff_name = serializers.CharField(source="staff.name", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)

    class Meta:
        model = GridAssignment
        fields = [
            "id",
            "grid",
            "grid_name",
            "staff",
            "staff_name",
            "position",
            "started_on",
            "ended_on",
            "start_reason",
            "end_reason",
        ]


class GridAssignmentCreateSerializer(serializers.Serializer):
    grid = ScopedPrimaryKeyRelatedField(queryset=Grid.objects.select_related("community"))
    staff = ScopedPrimaryKeyRelatedField(queryset=Staff.objects.all())
    position = serializers.ChoiceField(choices=Position.choices)
    started_on = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndAssignmentSerializer(serializers.Serializer):
    ended_on = serializers.DateField()
    reason = serializers.CharField(max_length=200)


class DepartureRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = DepartureRequest
        fields = [
            "id",
            "assignment",
            "leave_on",
            "reason",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_note",
            "created_at",
        ]
        read_only_fields = fields


class DepartureRequestCreateSerializer(serializers.Serializer):
    assignment = ScopedPrimaryKeyRelatedField(
        queryset=GridAssignment.objects.select_related("grid__community")
    )
    leave_on = serializers.DateField()
    reason = serializers.CharField(max_length=300)


class SecondmentSerializer(serializers.ModelSerializer):
    staff_name = serializers.CharField(source="staff.name", read_only=True)

    class Meta:
        model = Secondment
        fields = [
            "id",
            "staff",
            "staff_name",
            "purpose",
            "destination",
            "starts_on",
            "ends_on",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_note",
            "created_at",
        ]
        read_only_fields = fields


class SecondmentCreateSerializer(serializers.Serializer):
    staff = ScopedPrimaryKeyRelatedField(queryset=Staff.objects.all())
    purpose = serializers.CharField(max_length=300)
    destination = serializers.CharField(max_length=100)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
