"""Work orders (工单): numbering, lifecycle and audit trail."""
