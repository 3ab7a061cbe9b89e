"""The integral analysis and the plan of approach."""
