import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
django_application = get_asgi_application()

from zhengwu.core.errorpages import BodySizeLimitASGI  # noqa: E402  (needs settings configured)

# The body limit is checked before Django reads (and spools) the request body.
application = BodySizeLimitASGI(django_application)
