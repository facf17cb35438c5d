"""The browser portal: server-rendered pages for residents, caseworkers and the public.

A backend-for-frontend: it owns no business data and no schema, and calls the four services'
HTTP APIs with the signed-in user's token (DESIGN.md §4)."""
