"""The officials' console (控制台): a server-rendered web app for county officials that calls the
services' REST APIs with the logged-in official's token (issue 14)."""

import warnings

from authlib.deprecate import AuthlibDeprecationWarning  # adds authlib's own "always" filter first

# authlib 1.9 prefers the httpx2 fork and says so when it is imported, a warning line in every
# start-up's log; it falls back to httpx, unchanged, which is what the whole project uses
warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=AuthlibDeprecationWarning)
