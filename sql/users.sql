-- name: list_users_page(limit, offset)
-- One page of users by id, each row carrying the total; an empty page is one row with a null id.
-- A page past the end reads no rows at all (the offset test is a one-time filter), not every row.
select t.total, u.id, u.username, u.email, u.age, u.mobile, u.address, u.created_at, u.updated_at
  from (select count(*) as total from users) as t
  left join lateral (
        select id, username, email, age, mobile, address, created_at, updated_at
          from users
         where :offset < t.total
         order by id
         limit :limit offset :offset
       ) as u on true;

-- name: count_users()$
-- How many users there are.
select count(*) from users;

-- name: get_user_by_username(username)^
-- One user by username, or nothing.
select id, username, email, age, mobile, address, created_at, updated_at
  from users
 where username = :username;
