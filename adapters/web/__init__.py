"""The web console: registrar pages under `/admin` and the student page at `/`.

Server-rendered (Jinja2), every asset served by the app (no CDN), progressive enhancement by
one small script. The pages call the same application commands and views as the JSON API,
mostly through the API's own route functions, so there is no second path to the data.
"""
