from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "zhengwu.directory"
    label = "directory"
    verbose_name = "政务机构与人员目录"
