"""The application shell: QApplication and theme, start-up flow, login, main window, the database
session of the signed-in user, background workers."""
