"""Privacy by design: a customer's data exported, erased (and the erasure verified), kept only as long as the
retention policies say."""
