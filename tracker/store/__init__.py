"""The ground floor: the SQLite connection and its writes, the migrations, the triggers that
keep the totals, and the audit trail."""
