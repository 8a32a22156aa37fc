from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from .api import VIEWSETS

router = DefaultRouter(trailing_slash=True)
for plural, viewset in VIEWSETS.items():
    router.register(plural, viewset, basename=plural)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("workflows.api_urls")),
    path("api/v1/", include(router.urls)),
    path("", include("workflows.urls")),
    path("", include("crm.page_urls")),
]
