from django.urls import path, register_converter

from . import views


class ResourceCodeConverter:
    """信息资源代码 such as 101001/00001: letters, digits, '.', '-', '_' and '/' inside."""

    regex = r"[0-9A-Za-z._-]+(?:/[0-9A-Za-z._-]+)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ResourceCodeConverter, "resource_code")

app_name = "datahub"

urlpatterns = [
    path("", views.index, name="index"),
    path("quality/", views.quality, name="quality"),
    path("quality/export.<str:fmt>", views.quality_export, name="quality_export"),
    path("tokens/", views.tokens, name="tokens"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("resources/<resource_code:code>/", views.resource, name="resource"),
]
