"""Course staff pages: how learners do in each course, and (for admins) user accounts."""
