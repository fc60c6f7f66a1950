from __future__ import annotations

from rest_framework import serializers

from doorstep.org.territory import Territory


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference that resolves only to objects inside the requesting user's territory."""

    default_error_messages = {
        "does_not_exist": "对象 {pk_value} 不存在或不在您的辖区内。",
        "incorrect_type": "应为整数ID，收到 {data_type}。",
        "required": "该字段为必填项。",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        return Territory.for_user(getattr(request, "user", None)).filter(queryset)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
