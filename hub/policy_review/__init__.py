"""Policy versions for privacy officers: matrix, simulation, diff, four-eyes approval."""
