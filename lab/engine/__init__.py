"""Running checks: the settings and context a check is given, the runner that
isolates each check, the results it produces, one guest's grading session,
the student's progress file and the console the verdict is printed to."""
