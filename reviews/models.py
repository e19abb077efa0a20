# Rubrics, assignments, conflict declarations and reviews arrive with the review issue.
