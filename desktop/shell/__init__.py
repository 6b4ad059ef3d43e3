"""The application shell: the start-up flow (demo creation, login, role screen, sign-out), the
login dialog and the main window that holds the signed-in role's screen."""
