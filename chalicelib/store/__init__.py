"""Data access: one module per DynamoDB table, all talking to DynamoDB through botocore.

Business modules never build DynamoDB requests themselves; they ask these modules for records or
for transaction items (`*_op` functions) and hand the items to `db.transact`, so a multi-table
change such as a registration is one `TransactWriteItems` call with all its conditions.
"""
