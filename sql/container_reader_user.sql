-- The dashboard's read-only account in the mysql container: it can read the window rows and
-- nothing else. Run by docker/mysql/reader-user.sh, at the container's first start and again by
-- every bin/up --docker, which sets @reader_password from the mysql_reader_password secret first
-- (a prepared statement, because CREATE USER takes its password as a literal only).
-- (The names are docker/compose.yml's database and [dashboard] user's defaults.)
SET @create_reader = CONCAT('CREATE USER IF NOT EXISTS ''cryptostream_reader''@''%'' IDENTIFIED BY ',
                            QUOTE(@reader_password));
PREPARE statement FROM @create_reader;
EXECUTE statement;
SET @alter_reader = CONCAT('ALTER USER ''cryptostream_reader''@''%'' IDENTIFIED BY ', QUOTE(@reader_password));
PREPARE statement FROM @alter_reader;
EXECUTE statement;
DEALLOCATE PREPARE statement;
SET @reader_password = NULL, @create_reader = NULL, @alter_reader = NULL;
GRANT SELECT ON `crypto_streaming`.`moving_averages` TO 'cryptostream_reader'@'%';
