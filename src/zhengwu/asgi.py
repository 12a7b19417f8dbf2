import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
django_application = get_asgi_application()

from zhengwu.core.errorpages import BodySizeLimitASGI  # noqa: E402  (needs settings configured)
from zhengwu.core.threadpool_handler import PooledRoutes  # noqa: E402

# The body limit is checked before Django reads (and spools) the request body. The routes apps
# registered with core.threadpool_handler (the gateway's reads) run Django's sync handler on a
# fixed thread pool; everything else is Django's ASGI handler.
application = BodySizeLimitASGI(PooledRoutes(django_application))
