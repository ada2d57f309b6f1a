import sys
print("hello from python", sys.version_info[0])
