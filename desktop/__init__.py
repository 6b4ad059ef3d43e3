"""LungRead desktop: the Qt application and the ``lungread`` command line (thin: the rules live in
:mod:`db.services`, the computations in :mod:`quant`, the pictures in :mod:`viewer`).

* :mod:`desktop.cli` - ``lungread`` (:mod:`desktop.cli.main`) and its command groups;
* :mod:`desktop.shell` - start-up flow, login, main window;
* :mod:`desktop.screens` - one screen per role; :mod:`desktop.demo` - the built-in demo trial;
* :mod:`desktop.reading` - the reading workspace; :mod:`desktop.app` - QApplication, session, workers.
"""
