"""The embedded local stack: Kafka-protocol broker, Redis Stack, tritonserver, chdb archive."""
