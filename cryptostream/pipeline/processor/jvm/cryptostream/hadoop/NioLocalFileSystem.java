package cryptostream.hadoop;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system without a child process per file. Without Hadoop's native
 * library (pyspark ships none) RawLocalFileSystem runs `chmod` for every file it creates and
 * `readlink` for every link status, each a process started from the JVM; a streaming query
 * writing two checkpoint files per micro-batch started about twenty. Java's own file API does
 * the same work in-process.
 */
public class NioLocalFileSystem extends RawLocalFileSystem {
  private static final PosixFilePermission[] BITS = {  // from 0400 down to 0001
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE};

  @Override
  public void setPermission(Path path, FsPermission permission) throws IOException {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    int mode = permission.toShort();
    for (int i = 0; i < BITS.length; i++) {
      if ((mode & (0400 >> i)) != 0) {
        set.add(BITS[i]);
      }
    }
    Files.setPosixFilePermissions(pathToFile(path).toPath(), set);  // sticky bit: not used here
  }

  /** A path that is not a symbolic link has the same link status as status. */
  @Override
  public FileStatus getFileLinkStatus(Path path) throws IOException {
    File file = pathToFile(path);
    if (Files.isSymbolicLink(file.toPath())) {
      return super.getFileLinkStatus(path);
    }
    return getFileStatus(path);
  }
}
