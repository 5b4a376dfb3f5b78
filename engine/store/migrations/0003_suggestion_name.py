"""Suggestions keep the template name the model proposed."""
from peewee import *

def up(migrator, db):
    migrator.migrate(migrator.add_column('suggestion', 'name', CharField(max_length=64, default='')))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('suggestion', 'name'))
