"""Material files: the `FileStore` protocol, the local and Supabase Storage stores, paths."""

from tools.files.base import FileMissing, FileStore, FileStoreDenied, FileStoreError
from tools.files.local import LocalFileStore
from tools.files.materials import material_file_path, upload_path
from tools.files.paths import check_object_path, class_material_path, sanitize_file_name
from tools.files.settings import FileStoreSettings, open_file_store
from tools.files.supabase_storage import SupabaseFileStore

__all__ = [
    "FileMissing",
    "FileStore",
    "FileStoreDenied",
    "FileStoreError",
    "FileStoreSettings",
    "LocalFileStore",
    "SupabaseFileStore",
    "check_object_path",
    "class_material_path",
    "material_file_path",
    "open_file_store",
    "sanitize_file_name",
    "upload_path",
]
