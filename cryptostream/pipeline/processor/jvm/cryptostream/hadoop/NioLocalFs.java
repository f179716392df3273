package cryptostream.hadoop;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.AbstractFileSystem;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;

/**
 * What FileContext (Spark's checkpoint writer) uses for file: URIs, as Hadoop's LocalFs
 * (checksummed, over the raw local file system) but over NioLocalFileSystem.
 * Set as fs.AbstractFileSystem.file.impl.
 */
public class NioLocalFs extends ChecksumFs {
  public NioLocalFs(URI uri, Configuration conf) throws IOException, URISyntaxException {
    super(raw(uri, conf));
  }

  private static AbstractFileSystem raw(URI uri, Configuration conf) throws IOException, URISyntaxException {
    return new DelegateToFileSystem(uri, new NioLocalFileSystem(), conf, "file", false) {
      @Override
      public int getUriDefaultPort() {
        return -1;  // as Hadoop's RawLocalFs: file: URIs have no port
      }

      @Override
      public boolean isValidName(String src) {
        return true;  // as RawLocalFs: local names may hold ':'
      }
    };
  }
}
