"""The endpoint value of each scan under the charter: one rule (:mod:`db.endpoints.rule`), used both
per scan and for the whole analysis dataset (:mod:`db.endpoints.dataset`)."""
