"""What every screen of the application stands on: QApplication setup and theme, the database
session of the signed-in user, background workers with progress. The shell that shows the screens
is :mod:`desktop.shell`."""
