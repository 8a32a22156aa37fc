from rest_framework.routers import DefaultRouter

from .api import FormViewSet, RunViewSet, WorkflowViewSet
from .gallery.api import TemplateViewSet
from .notifications_api import NotificationViewSet
from .secrets.api import SecretViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("runs", RunViewSet, basename="run")
router.register("forms", FormViewSet, basename="form")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("secrets", SecretViewSet, basename="secret")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = router.urls
