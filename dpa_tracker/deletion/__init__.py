"""The end of an agreement: the clause 13 deletion workflow, its tasks and the deletion certificate."""
