"""One screen per role: reader worklist, manager, adjudicator, statistician, reading packages."""
