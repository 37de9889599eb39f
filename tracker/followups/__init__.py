"""Follow-ups: who owes a customer an answer, worked as a queue, and the alerts that announce them."""
