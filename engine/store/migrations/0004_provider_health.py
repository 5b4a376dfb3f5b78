"""Provider cooldown shared by every process: consecutive failures per endpoint."""
from peewee import *

def up(migrator, db):
    class ProviderHealth(Model):
        key = CharField(primary_key=True, max_length=400)
        failures = IntegerField(default=0)
        until = DoubleField(default=0.0)
        class Meta:
            database = db
            table_name = 'provider_health'
    db.create_tables([ProviderHealth])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('provider_health'))
