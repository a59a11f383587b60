# astro101, "Introduction to astroparticle physics": nbgrader settings of the course.
# The formgrader of the course serves this folder (its course volume); the
# exchange (ngshare) is configured for every server in /etc/jupyter.
c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "astro101"
# Data files travel with the assignment; nothing a student makes beside them should.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
# Autograding runs every notebook top to bottom; none of astro101 needs more than seconds.
c.Execute.timeout = 120
# Late work (servicekit.late_penalty): 10 % of the score for each day begun after the due
# date plus the student's extension (the formgrader's /deadlines page gives extensions).
c.AssignLatePenalties.plugin_class = "servicekit.late_penalty.CourseLatePenalty"
c.CourseLatePenalty.rule = "percent-per-day"
c.CourseLatePenalty.percent_per_day = 10
