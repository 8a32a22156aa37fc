from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from .api import VIEWSETS
from .openapi import api_not_found

router = DefaultRouter(trailing_slash=True)
router.include_format_suffixes = False  # no `.json` URL variants: half the patterns to try
for plural, viewset in VIEWSETS.items():
    router.register(plural, viewset, basename=plural)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Records first: the most requested API paths resolve after the fewest patterns.
    path("api/v1/", include(router.urls)),
    path("api/v1/", include("workflows.api_urls")),
    re_path(r"^api/", api_not_found),  # unknown API paths answer the JSON error too
    path("", include("workflows.urls")),
    path("", include("crm.page_urls")),
]
