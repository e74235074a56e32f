"""SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2/: the HRIS provisions people (Users, with the
enterprise extension) and teams (Groups). resources.py describes the service with
scim2-models, store.py maps people and teams to resources and writes through
people.services, query.py filters, sorts and pages, views.py and urls.py serve it,
errors.py answers every error as a SCIM error body."""
